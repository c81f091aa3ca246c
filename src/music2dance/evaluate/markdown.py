"""report.md: the evaluation's results dict (see `report.run_evaluate`) as a markdown report.

Header (data, model, seed, protocol), one table per group of metrics, the separating features, the
plain-words findings and the plots.
"""

from __future__ import annotations

from .protocol import Protocol
from .table import METRICS, TABLES


def fmt_cell(e: dict | None) -> str:
    """A cell as "point [lo, hi]", 3 decimals below 10, else 1; "n/a" without a value."""
    if e is None or e["value"] is None:
        return "n/a"
    v = e["value"]
    digits = 3 if abs(v) < 10 else 1
    s = f"{v:.{digits}f}"
    if e["ci_lo"] is not None and e["ci_hi"] is not None:
        s += f" [{e['ci_lo']:.{digits}f}, {e['ci_hi']:.{digits}f}]"
    return s


def render_markdown(results: dict) -> str:
    """report.md text from a results dict (see `run_evaluate`)."""
    rows = results["rows"]
    counts = results.get("counts", {})
    lines = [
        "# Evaluation report",
        "",
        f"Data: `{results['data']['path']}`, {results['data']['n_train']} train / "
        f"{results['data']['n_test']} test sequences ({', '.join(results['data']['test_songs'])}); "
        f"{results['data']['n_reference_clips']} train clips. Model: {results['model']}. "
        f"Seed {results['seed']}.",
        "",
        "## Protocol",
        "",
        Protocol.from_dict(results["protocol"]).describe(),
        "",
        "Rows: **ground truth** = real test dances (features fitted against the train split); **mean pose** "
        "= the data's mean pose frozen for the song's length; **wrong song** = a random training dance on "
        "the test song; **retrieval** = the training dance (at least as long as the song) whose music "
        "features are closest to the test song's; **model** = generated for the test songs. Values: point "
        "[95 % interval]; floor / chance: mean [central 95 % of the draws]; definitions in docs/METRICS.md.",
        "",
    ]
    for tkey, title in TABLES.items():
        ms = [m for m in METRICS if m.table == tkey]
        extra = tkey == "fid"
        lines += [
            f"## {title}",
            "",
            "| row | " + ("clips (dances) | " if extra else "") + " | ".join(m.label for m in ms) + " |",
            "|---|" + ("---|" if extra else "") + "---|" * len(ms),
        ]
        for r, res in rows.items():
            c = counts.get(r, {})
            cnt = f"{c.get('compared', c.get('clips', '?'))} ({c.get('dances', '?')}) | " if extra else ""
            lines.append(f"| {r} | {cnt}" + " | ".join(fmt_cell(res.get(m.key)) for m in ms) + " |")
        better = ", ".join(
            f"{m.label}: {'closer to ground truth' if m.better == 'gt' else m.better}"
            for m in ms
            if m.better != "ref"
        )
        lines += ["", f"Better: {better}.", ""]
    sep = results.get("separating_features", {})
    if sep:
        lines += [
            "## What separates each row from real clips",
            "",
            "The three clip statistics with the largest standardised mean difference (row - real) / std_real:",
            "",
        ]
        for r, feats in sep.items():
            lines.append(f"- {r}: " + "; ".join(f"{n} ({d:+.1f})" for n, d in feats))
        lines.append("")
    lines += ["## Which rows the realism metrics separate", ""]
    lines += [f"- {c}" for c in results.get("separation", [])] or ["- no pairs to compare"]
    lines += ["", "## Metrics that do not separate the rows", ""]
    lines += [f"- {c}" for c in results["callouts"]] or ["- none"]
    lines += [
        "",
        "## Plots",
        "",
        "![energy](energy.png)",
        "",
        "![beats](beat_alignment.png)",
        "",
        "![frames](frames.png)",
        "",
    ]
    return "\n".join(lines)
