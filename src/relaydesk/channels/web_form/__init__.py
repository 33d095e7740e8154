"""The help center's contact form (``/help/{locale}/contact``): the form in (``parse``, ``endpoints``),
replies out by email to the address the customer gave (``sender``); registered in
``channels.registry`` by ``adapter``. No signature to verify: anyone may fill it in, so its identity
is never proven and each submission opens its own ticket."""
