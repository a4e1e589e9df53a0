"""CDK constructs and settings for the Image Builder retrier."""
