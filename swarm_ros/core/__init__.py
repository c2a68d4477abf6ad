"""Pure numpy/scipy building blocks shared by controllers and simulation. Never imports rclpy."""
