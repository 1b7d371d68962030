"""`uniforge bench`: timed boots, sizes and memory of apps against the floor and a Linux peer, and its reports."""
