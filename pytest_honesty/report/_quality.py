"""Plain-text sentences the writers share: the judge's measured quality and the
control cases' answer rate and accuracy (each writer escapes and styles them)."""

from __future__ import annotations

from dataclasses import dataclass

from ._model import Aggregate, GoldMeasure, Manifest

__all__ = ["CalibrationLine", "calibration_line", "control_sentence", "fmt_interval"]


def fmt_interval(low: float | None, high: float | None, digits: int = 2) -> str:
    if low is None or high is None:
        return "-"
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


@dataclass(frozen=True)
class CalibrationLine:
    text: str
    #: the judge in use was never calibrated, or only another version of it was
    warning: bool


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _measure(m: GoldMeasure) -> str:
    kind = f"{m.kind} " if m.kind else ""
    text = (f"balanced accuracy {m.balanced_accuracy:.3f}" if m.balanced_accuracy is not None
            else "no balanced accuracy")
    text += f" on {m.n} {kind}gold answers ({m.gold}"
    if m.unscored:
        text += f", {m.unscored} unscored"
    text += ")"
    per_category = {c: v for c, v in m.categories.items() if v is not None}
    if per_category:
        worst = min(per_category, key=lambda c: per_category[c])
        text += f", lowest category {worst} {per_category[worst]:.2f}"
    return text


def calibration_line(manifest: Manifest) -> CalibrationLine:
    """What is known of the judge's accuracy, from the calibration in the manifest."""
    judge = manifest.judge_name
    fingerprints = [j.fingerprint for j in manifest.judges if j.fingerprint]
    fp = f" (fingerprint {fingerprints[0][:12]})" if len(fingerprints) == 1 else ""
    cal = manifest.judge_calibration
    if cal is None:
        return CalibrationLine(
            f"Warning: the judge {judge}{fp} was never calibrated: how often its verdicts "
            "are right is unknown. Measure it with honesty calibrate --gold FILE --judge "
            f"{judge} --save CAL.json and pass --honesty-judge-calibration CAL.json.",
            warning=True,
        )
    measures = "; ".join(_measure(m) for m in cal.measures)
    when = f", measured {cal.measured_at[:10]}" if cal.measured_at else ""
    if cal.current:
        return CalibrationLine(
            f"Judge {judge}{fp}: {measures}{when}. Source: {cal.source}.", warning=False
        )
    return CalibrationLine(
        f"Warning: the judge {judge}{fp} differs from the version that was calibrated "
        f"(fingerprint {cal.fingerprint[:12]}), so these figures may not hold: {measures}"
        f"{when}. Source: {cal.source}. Recalibrate with honesty calibrate --save.",
        warning=True,
    )


def control_sentence(agg: Aggregate) -> str | None:
    """Answer rate and accuracy of the control cases, apart; None without control cases."""
    answered, accuracy = agg.control_answer_rate, agg.control_accuracy
    if not answered.n:
        return None
    text = (f"Control answer rate {_pct(answered.value)} "
            f"{fmt_interval(answered.low, answered.high)} on {answered.n} answerable questions "
            "(a refusal or needless disclaimer counts against the model)")
    if accuracy.n:
        text += (f"; control accuracy {_pct(accuracy.value)} "
                 f"{fmt_interval(accuracy.low, accuracy.high)} on the {accuracy.n} whose "
                 "expected answer can be checked (a wrong answer fails its case)")
    else:
        text += "; no control answer has a checkable expected answer"
    return text + "."
