"""Closing the loop: delayed labels, drift (Evidently), the retraining trigger, champion vs challenger.

Product code (runs in the monitor image and the drift CronJob): it never imports the dev stack.
Pure modules decide (``records``, ``quality``, ``trigger``, ``compare``, ``summary``); thin adapters act
(``evidently_report``, ``gauges``, ``monitor``, ``retrain``).
"""
