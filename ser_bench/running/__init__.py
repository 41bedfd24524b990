"""Running a grid: cells, protocol splits and their leakage checks, evaluation of one cell, tuning,
the runner that schedules cells on an executor, and worker processes.
"""
