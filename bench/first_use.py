"""Imported by bench/cold_start.py's samples, after ``app``: what every function's first call does
before its own work, which ``import app`` leaves to it.

The settings models (and so Pydantic's first model build, which imports its plugin loader and
schema machinery) are built when a container first reads its settings, not in Lambda's init: the
cost moved from init to the first request or invocation, and a sample that stopped at the imports
would no longer see it. Building the services reads the settings and binds the tables, as the first
request does before it authenticates; no AWS call is made.
"""

from chalicelib.container import services

services()
