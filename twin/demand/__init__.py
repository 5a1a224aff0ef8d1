"""Demand history and forecasting: classification of series, forecast accuracy.

Long tables in and out (``sku, market, week, qty``); arrays inside.
"""
