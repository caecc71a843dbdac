"""mlnn.show_config() (issue #6; to be written)."""


def show_config():
    raise NotImplementedError("show_config is not implemented yet")
