"""Process plumbing shared by the feature-extraction pool and the process executor: workers that never
outlive the process that started them, and the fork server's preload. Imports nothing of ser-bench.
"""
