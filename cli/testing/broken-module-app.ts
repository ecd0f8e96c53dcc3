// A test application that fails to load: its module throws at import.

throw new Error('this module is broken on purpose');
