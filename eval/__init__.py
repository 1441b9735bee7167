"""Evaluation harness and judged benchmark for Boussole."""
