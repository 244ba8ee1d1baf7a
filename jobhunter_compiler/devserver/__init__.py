"""What `jobhunter run` serves on a developer's machine: the generated API under uvicorn,
an embedded MongoDB when no `MONGODB_URL` is set, and the built admin frontend."""
