"""What the serve tests share besides the server fixture (conftest.py): the limits it starts with."""

#: The step limit the tests start the server with: BB(4)'s 107 steps exceed it.
SERVER_MAX_STEPS = 100
