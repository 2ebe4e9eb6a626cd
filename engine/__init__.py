"""Execution: plan -> job graph -> executors -> store -> tables and charts.

Importing `engine` does not import torch; the modules that need it import it themselves.
"""
