"""Network drivers: LSIs, ports and traffic-steering rules."""
