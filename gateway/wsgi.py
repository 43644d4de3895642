"""What gunicorn serves: `gunicorn gateway.wsgi:app` (settings from the environment)."""
from gateway.app import create_app

app = create_app()
