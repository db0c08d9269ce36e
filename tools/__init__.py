"""Developer and operator tools: the local stack, provisioning on emulated AWS, the admin CLI."""
