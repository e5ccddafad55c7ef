"""Optimisation and auto-scaling advice (issue 15, item 6): pure computation from what
perf_mgr measured (perf_mgr/optimize.py gathers the signals, stores and applies)."""

from ai_mgr.advice.rules import Advice, Signals, advise
from ai_mgr.advice.strategies import PRESETS, STRATEGIES, Strategy, StrategyError, resolve

__all__ = [
    "PRESETS",
    "STRATEGIES",
    "Advice",
    "Signals",
    "Strategy",
    "StrategyError",
    "advise",
    "resolve",
]
