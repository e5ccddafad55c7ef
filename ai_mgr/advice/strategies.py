"""The seed's optimisation strategies as numbers: how much headroom to keep, how big a
step to take at once, and whether the result may be applied without an operator.

`adaptive` is not a fourth set of numbers: it picks `balanced` when the forecast has
proved itself (its backtest meets PREDICTION_ACCURACY_TARGET) and no anomaly is open,
else `conservative` (planning on a forecast that missed, or during an incident, is how
an optimiser makes things worse)."""

from __future__ import annotations

from dataclasses import dataclass

STRATEGIES = ("conservative", "balanced", "aggressive", "adaptive")


class StrategyError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.code, self.message = "invalid_strategy", message


@dataclass(frozen=True)
class Strategy:
    name: str
    utilisation: float  # plan capacity so the peak uses this share of it
    max_step: float  # at most this factor up (or 1/factor down) in one recommendation
    ttl_factor: float  # cache TTL multiplier when the hit ratio is poor
    auto_apply: bool  # may be applied automatically (the settings still have to allow it)


PRESETS = {
    "conservative": Strategy("conservative", 0.5, 1.25, 1.5, False),
    "balanced": Strategy("balanced", 0.7, 1.5, 2.0, True),
    "aggressive": Strategy("aggressive", 0.85, 2.0, 4.0, True),
}


def resolve(name, *, forecast_trusted: bool, anomalies_open: bool) -> tuple[Strategy, str]:
    """(the preset to use, why). `name` is one of STRATEGIES (case-insensitive)."""
    key = str(getattr(name, "value", name) or "").strip().lower()
    if key not in STRATEGIES:
        raise StrategyError(f"strategy must be one of {', '.join(STRATEGIES)}.")
    if key != "adaptive":
        return PRESETS[key], f"{key} (as asked)"
    if forecast_trusted and not anomalies_open:
        return PRESETS["balanced"], "adaptive: balanced, the forecast meets its accuracy target"
    why = "an anomaly is open" if anomalies_open else "the forecast misses its accuracy target"
    return PRESETS["conservative"], f"adaptive: conservative, {why}"
