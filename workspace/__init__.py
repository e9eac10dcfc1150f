"""The board's workspace (FastAPI + Jinja2): the register of reviews and each review's page,
behind a sign-in. Served by ``reviews up`` beside the agency portal."""
