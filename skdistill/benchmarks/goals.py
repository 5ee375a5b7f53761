"""What the benchmark reports check and compare with: the suites' goals and published figures.

The reports read these; pass another :class:`LTSFGoals` or :class:`VisionGoals` to
:func:`~skdistill.benchmarks.render_ltsf_report` / :func:`~skdistill.benchmarks.render_vision_report`
to judge a run against other targets.

Examples
--------
>>> from skdistill.benchmarks.goals import LTSF_GOALS
>>> LTSF_GOALS.max_epoch_ratio, LTSF_GOALS.min_speedup
(1.3, 7.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "LTSF_GOALS",
    "PAPER_CIFAR100",
    "PAPER_TIMEDISTILL_MSE",
    "VISION_GOALS",
    "LTSFGoals",
    "VisionGoals",
]

# TimeDistill with the ModernTCN teacher, mean MSE over the four horizons (the paper's table).
PAPER_TIMEDISTILL_MSE = {
    "ETTh1": 0.429,
    "ETTh2": 0.345,
    "ETTm1": 0.348,
    "ETTm2": 0.250,
    "weather": 0.221,
    "Electricity": 0.157,
    "Traffic": 0.387,
    "Solar": 0.184,
}
# Published CIFAR-100 top-1 (224x224, ImageNet-pretrained teachers, 300 epochs): KD, FitNet, OFA.
PAPER_CIFAR100 = {
    "Swin-T -> ResNet18": (78.74, 78.87, 80.54),
    "ViT-S -> ResNet18": (77.26, 77.71, 80.15),
    "ConvNeXt-T -> DeiT-T": (72.99, 60.78, 75.76),
    "ConvNeXt-T -> ResMLP-S12": (72.25, 45.47, 75.21),
}


@dataclass(frozen=True)
class LTSFGoals:
    """The LTSF suite's goals, each reported as met or not with its figure.

    Parameters
    ----------
    paper_mse : dict
        Dataset -> the paper's TimeDistill mean MSE over the horizons (the comparison table).
    paper_dataset : str
        The dataset whose best TimeDistill mean MSE must be at or below ``paper_mse``'s.
    min_speedup : float
        Student inference at least this many times faster than the heaviest teacher.
    max_epoch_ratio : float
        A distillation epoch at most this many plain MLP epochs (median of the timing cells).
    """

    paper_mse: dict = field(default_factory=lambda: dict(PAPER_TIMEDISTILL_MSE))
    paper_dataset: str = "ETTh1"
    min_speedup: float = 7.0
    max_epoch_ratio: float = 1.3


@dataclass(frozen=True)
class VisionGoals:
    """What the vision report sets SFKD against.

    Parameters
    ----------
    method : str
        The method whose standing is reported.
    rivals : tuple of str
        The methods it is compared with, on every heterogeneous pair both ran.
    paper_cifar100 : dict
        Published pair -> (KD, FitNet, OFA) CIFAR-100 top-1, shown for context.
    """

    method: str = "sfkd"
    rivals: tuple[str, ...] = ("alone", "kd", "ofa")
    paper_cifar100: dict = field(default_factory=lambda: dict(PAPER_CIFAR100))


LTSF_GOALS = LTSFGoals()
VISION_GOALS = VisionGoals()
