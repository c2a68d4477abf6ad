"""Software-in-the-loop simulation: physics backends, worlds, radio, metrics. Never imports rclpy."""
