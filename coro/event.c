/* TODO: event */
