import os

from dotenv import load_dotenv

load_dotenv()


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "recipes-dev")
    POSTHOG_API_KEY = os.environ.get("POSTHOG_API_KEY")
    POSTHOG_API_HOST = os.environ.get("POSTHOG_API_HOST", "https://us.i.posthog.com")
