"""Web chat and in-app messaging: the embeddable widget and the conversation API."""
