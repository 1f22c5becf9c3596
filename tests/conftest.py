import pytest


@pytest.fixture(scope="session")
def lpips_net():
    """LPIPS v0.1 AlexNet on the CPU, built once for the session."""
    from inpaint.perceptual import load_lpips

    return load_lpips("cpu")
