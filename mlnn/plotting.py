"""Pictures: decision regions, training animations, loss and gradient plots (issue #4; to be written)."""
