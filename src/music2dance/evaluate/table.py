"""The report's table layout: its rows (the reference rows and the model) and its metric columns.

Each column says which way is better ("lower", "higher", "gt": closer to ground truth, "ref": a floor or
chance level to read a figure against) and which table it is printed in; TABLES gives the tables' titles.
"""

from __future__ import annotations

from dataclasses import dataclass

REFERENCE_ROWS = ("ground truth", "mean pose", "wrong song", "retrieval")
MODEL_ROW = "model"


@dataclass(frozen=True)
class MetricInfo:
    key: str
    label: str
    better: str  # "lower", "higher", "gt" (closer to ground truth) or "ref" (floor, chance)
    table: str


METRICS: tuple[MetricInfo, ...] = (
    MetricInfo("fid_k", "FID_k", "lower", "fid"),
    MetricInfo("fid_k_inf", "FID_k inf", "ref", "fid"),
    MetricInfo("fid_k_floor", "FID_k floor", "ref", "fid"),
    MetricInfo("fid_g", "FID_g", "lower", "fid"),
    MetricInfo("fid_g_inf", "FID_g inf", "ref", "fid"),
    MetricInfo("fid_g_floor", "FID_g floor", "ref", "fid"),
    MetricInfo("c2st", "C2ST accuracy", "lower", "realism"),
    MetricInfo("c2st_floor", "C2ST floor", "ref", "realism"),
    MetricInfo("kid_k", "KID_k", "lower", "realism"),
    MetricInfo("kid_k_floor", "KID_k floor", "ref", "realism"),
    MetricInfo("kid_g", "KID_g", "lower", "realism"),
    MetricInfo("kid_g_floor", "KID_g floor", "ref", "realism"),
    MetricInfo("div_k", "Div_k", "gt", "realism"),
    MetricInfo("div_g", "Div_g", "gt", "realism"),
    MetricInfo("bas_aist", "BAS (AIST++)", "higher", "beats"),
    MetricInfo("bas_aist_chance", "chance", "ref", "beats"),
    MetricInfo("bas_bailando", "BAS (Bailando)", "higher", "beats"),
    MetricInfo("bas_bailando_chance", "chance", "ref", "beats"),
    MetricInfo("beat_hit_rate", "beat hit rate", "higher", "beats"),
    MetricInfo("beat_hit_rate_chance", "chance", "ref", "beats"),
    MetricInfo("beat_coverage", "beat coverage", "gt", "beats"),
    MetricInfo("diversity", "diversity (songs)", "gt", "paper"),
    MetricInfo("multimodality", "multimodality (seeds)", "higher", "paper"),
    MetricInfo("style_accuracy", "style accuracy", "higher", "paper"),
    MetricInfo("pfc", "PFC (m/s)^2", "lower", "physical"),
    MetricInfo("foot_skating", "foot skating (m/s)", "lower", "physical"),
    MetricInfo("bone_std_cm", "bone length std (cm)", "lower", "physical"),
    MetricInfo("jump_velocity_ratio", "unit jump, velocity", "gt", "physical"),
    MetricInfo("jump_acceleration_ratio", "unit jump, acceleration", "gt", "physical"),
    MetricInfo("frozen_fraction", "frozen windows", "lower", "long"),
    MetricInfo("energy_ratio", "energy last/first", "gt", "long"),
    MetricInfo("mean_energy", "mean joint speed (m/s)", "gt", "long"),
    MetricInfo("pose_distance", "dist. to mean pose (m)", "gt", "long"),
    MetricInfo("pose_distance_ratio", "dist. to mean pose last/first", "gt", "long"),
)
TABLES = {
    "fid": "FID against the train split's clips (every row at the same number of clips)",
    "realism": "Real or not: classifier two-sample test, KID, diversity",
    "beats": "Beats (whole dances; chance = music beats shifted at random)",
    "paper": '"Dancing to Music" metrics',
    "physical": "Physical plausibility and unit boundaries",
    "long": "Freezing and long-range behaviour (whole dances)",
}
LABELS = {m.key: m.label for m in METRICS}
