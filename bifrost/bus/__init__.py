"""The message bus: ZeroMQ sockets and MessagePack frames. Socket code lives here alone."""
