/* TODO: cond */
