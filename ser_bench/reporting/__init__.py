"""Reporting: tidy frames from result records, statistics, ranks, figures and leaderboards
(markdown, csv, json, parquet, html). Nothing here imports the running side.
"""
