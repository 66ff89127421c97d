/** Absolute path of the built bundle (`dist/`, with `index.html`). */
export declare const consoleDir: string;
