"""Pure-torch neural network building blocks used by the skdistill estimators.

Nothing in this subpackage imports scikit-learn, skorch or sktime: the modules are plain
``torch.nn.Module`` subclasses that the training layer wraps.
"""
