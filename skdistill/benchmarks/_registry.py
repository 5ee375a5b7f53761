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


#: Teachers whose trained weights the package ships in ``skdistill/datasets/weights``:
#: ``(dataset, teacher, window_length, horizon)`` -> file (see that folder's README).
BUNDLED_TEACHERS: dict[tuple[str, str, int, int], str] = {
    ("etth1", "patchtst", 720, 96): "ETTh1_PatchTST_L720_H96.pt",
}


def bundled_teacher(dataset: str, teacher: str, window_length: int, horizon: int):
    """The shipped weights file of that teacher cell (for ``from_weights``), or None."""
    name = BUNDLED_TEACHERS.get((dataset.lower(), teacher, int(window_length), int(horizon)))
    if name is None:
        return None
    from importlib.resources import files

    return files("skdistill.datasets").joinpath("weights", name)
