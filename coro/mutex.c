/* TODO: mutex */
