"""Offline planning: op order is the graph's; memory.plan_arena places activations."""
from .memory import ArenaPlan, plan_arena

__all__ = ["ArenaPlan", "plan_arena"]
