"""The teacher forecasters by the names the command line, the demo and the suites give them."""

from __future__ import annotations

from typing import NamedTuple


class TeacherName(NamedTuple):
    """A teacher's display label and its class name in :mod:`skdistill.forecasting`."""

    label: str
    class_name: str


# Lower-case name (``--teacher``, ``LTSFConfig.teachers``) -> label and forecaster class.
TEACHERS: dict[str, TeacherName] = {
    "itransformer": TeacherName("iTransformer", "ITransformerForecaster"),
    "patchtst": TeacherName("PatchTST", "PatchTSTForecaster"),
    "moderntcn": TeacherName("ModernTCN", "ModernTCNForecaster"),
    "timemixer": TeacherName("TimeMixer", "TimeMixerForecaster"),
}


def teacher_class(name: str) -> type:
    """The forecaster class of the teacher called ``name`` (a key of :data:`TEACHERS`)."""
    import skdistill.forecasting as forecasting

    return getattr(forecasting, TEACHERS[name].class_name)
