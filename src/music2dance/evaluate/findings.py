"""What the rows' numbers say, in plain words: which metrics separate which rows, which fail to.

`callouts` flags metrics that cannot tell a frozen mean pose or real motion on the wrong song from ground
truth, and beat scores not above chance; `separation` says which realism metrics separate which pairs of
rows (intervals apart) and which rows sit within the noise floor. Both read {row: {metric: cell}}.
"""

from __future__ import annotations

from .table import LABELS, METRICS, MODEL_ROW

MUSIC_METRICS = ("bas_aist", "bas_bailando", "beat_hit_rate", "style_accuracy")
# pairs of rows that the realism metrics should tell apart, and the metrics asked
SEPARATION_PAIRS = (("ground truth", "mean pose"), ("ground truth", MODEL_ROW), (MODEL_ROW, "mean pose"))
SEPARATION_METRICS = ("fid_k", "fid_g", "kid_k", "kid_g", "c2st")


def overlap(a: dict, b: dict) -> bool:
    """Whether two cells' intervals overlap (without intervals: whether their values are equal)."""
    if None in (a["ci_lo"], a["ci_hi"], b["ci_lo"], b["ci_hi"]):
        return a["value"] == b["value"] and a["value"] is not None
    return not (a["ci_hi"] < b["ci_lo"] or b["ci_hi"] < a["ci_lo"])


def _ok(rows: dict, r: str, key: str) -> bool:
    return r in rows and key in rows[r] and rows[r][key]["value"] is not None


def callouts(rows: dict[str, dict]) -> list[str]:
    """Plain-words notes on metrics that fail to separate rows they should separate from ground truth.

    Every metric should tell a frozen mean pose from real dances; music metrics should also tell real
    motion on the wrong song from the real dance on its own song, and beat scores should stand above
    their chance level. Real-motion baselines (wrong song, retrieval) scoring like ground truth on
    motion-only metrics is expected (those metrics ignore the music) and said once.
    """
    out = []
    gt = rows.get("ground truth", {})
    blind = []
    for m in METRICS:
        if m.better == "ref" or not _ok(rows, "ground truth", m.key):
            continue
        if _ok(rows, "mean pose", m.key) and overlap(gt[m.key], rows["mean pose"][m.key]):
            out.append(
                f"{m.label} does not separate a frozen mean pose from ground truth (intervals overlap)."
            )
        elif (
            _ok(rows, "mean pose", m.key)
            and m.better in ("higher", "lower")
            and ((rows["mean pose"][m.key]["value"] > gt[m.key]["value"]) == (m.better == "higher"))
        ):
            out.append(
                f"{m.label} rates a frozen mean pose better than ground truth: it cannot be read alone."
            )
        if m.key in MUSIC_METRICS:
            for r in ("wrong song", "retrieval"):
                if not _ok(rows, r, m.key):
                    continue
                if overlap(gt[m.key], rows[r][m.key]):
                    out.append(
                        f"{m.label} does not separate real motion on the wrong song ({r}) from ground "
                        "truth: it barely sees whether the dance fits the music."
                    )
                elif (rows[r][m.key]["value"] > gt[m.key]["value"]) == (m.better == "higher"):
                    out.append(
                        f"{m.label} rates real motion on the wrong song ({r}) better than ground truth."
                    )
        elif _ok(rows, "wrong song", m.key) and overlap(gt[m.key], rows["wrong song"][m.key]):
            blind.append(m.label)
    for key in ("bas_aist", "bas_bailando", "beat_hit_rate"):
        ch = f"{key}_chance"
        for r, res in rows.items():
            if _ok(rows, r, key) and _ok(rows, r, ch) and res[key]["ci_lo"] is not None:
                if res[key]["ci_lo"] <= res[ch]["value"]:
                    out.append(f"{LABELS[key]} of {r} is not above its chance level.")
    if blind:
        out.append(
            f"Motion-only metrics ({', '.join(blind)}) score a real dance on the wrong song like ground "
            "truth, as expected: they ignore the music."
        )
    return out


def _ceiling(rows: dict, a: str, b: str, key: str) -> bool:
    return key == "c2st" and min(rows[a][key]["value"], rows[b][key]["value"]) > 0.95


def separation(rows: dict[str, dict]) -> list[str]:
    """Which realism metrics separate which pairs of rows (intervals apart), and where rows sit at the floor."""
    out = []
    for a, b in SEPARATION_PAIRS:
        if a not in rows or b not in rows:
            continue
        yes = [
            LABELS[k]
            for k in SEPARATION_METRICS
            if _ok(rows, a, k) and _ok(rows, b, k) and not overlap(rows[a][k], rows[b][k])
        ]
        no = [
            LABELS[k]
            + (" (both at the ceiling: trivially told from real)" if _ceiling(rows, a, b, k) else "")
            for k in SEPARATION_METRICS
            if _ok(rows, a, k) and _ok(rows, b, k) and overlap(rows[a][k], rows[b][k])
        ]
        out.append(
            f"{a} vs {b}: separated by {', '.join(yes) or 'none'}"
            + (f"; not by {', '.join(no)}" if no else "")
            + "."
        )
    for r, res in rows.items():
        at_floor = []
        for k in SEPARATION_METRICS:
            f = f"{k}_floor"
            if _ok(rows, r, k) and _ok(rows, r, f) and res[f]["ci_hi"] is not None:
                if res[k]["value"] <= res[f]["ci_hi"]:
                    at_floor.append(LABELS[k])
        if at_floor:
            out.append(f"{r} is within the noise floor on {', '.join(at_floor)}.")
    return out
