/** The signed-in administrator's access token, kept for this tab only (sessionStorage). */
const KEY = "console.token";

export const readToken = (): string | null => sessionStorage.getItem(KEY);
export const saveToken = (token: string): void => sessionStorage.setItem(KEY, token);
export const clearToken = (): void => sessionStorage.removeItem(KEY);
