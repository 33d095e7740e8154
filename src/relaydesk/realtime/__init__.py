"""Real-time fan-out to agent screens and chat widgets: in-process, or Redis pub/sub across processes."""

from relaydesk.realtime.hub import Hub, InProcessHub, RedisHub, create_hub

__all__ = ["Hub", "InProcessHub", "RedisHub", "create_hub"]
