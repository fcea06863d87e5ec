"""A trading backend simulated in-process: demo data set, seeded prices, hedged execution."""

from adapter_core.backend.simulated.backend import SimulatedBackend
from adapter_core.backend.simulated.dataset import DatasetError, DemoDataset, load_demo_dataset

__all__ = ["DatasetError", "DemoDataset", "SimulatedBackend", "load_demo_dataset"]
