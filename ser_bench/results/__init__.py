"""Results: the typed record of one cell (:mod:`ser_bench.results.record`) and the folder that
holds them (:mod:`ser_bench.results.store`). Both the running and the reporting side use this
package; it imports neither.
"""
