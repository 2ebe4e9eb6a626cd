"""Results: stored metrics joined onto planned cells, aggregated over seeds, and shown.

frame.py (cells x metrics -> long frame, missing kept) -> aggregate.py (mean, std, n, t CI over
seeds) -> tables.py ([[report]] tables; terminal, csv, md, json, parquet), charts.py (Altair:
line with CI band, grouped bars, heatmaps; html/png/svg), report.py (one HTML page per spec).
Importing this package is cheap; polars, altair and scipy load with the module that needs them.
"""
