/* TODO: scope */
