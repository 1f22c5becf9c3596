import pytest


@pytest.fixture(scope="session")
def lpips_net():
    """LPIPS v0.1 AlexNet on the CPU, built once for the session."""
    from inpaint.perceptual import load_lpips

    return load_lpips("cpu")


@pytest.fixture
def one_thread():
    """Run on one thread: for small tensors, and when other processes share the two cores,
    OpenMP fan-out on every elementwise op is slower by orders of magnitude."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
