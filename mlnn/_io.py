"""Saving and loading models as .npz (issue #7; to be written)."""


def save(net, path):
    raise NotImplementedError("neural_net.save is not implemented yet")


def load(path):
    raise NotImplementedError("mlnn.load is not implemented yet")
