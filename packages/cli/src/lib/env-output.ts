/** How a secret's value is shown: never the value (the agent masks task logs the same way). */
export const MASK = '••••';
