"""Compatibility path of the agent interface: it lives in :mod:`mcsim.plugins.agents`."""

from .plugins.agents import Agent, AgentBackend, Learner, agent_backends, get_backend

__all__ = ["Agent", "AgentBackend", "Learner", "agent_backends", "get_backend"]
