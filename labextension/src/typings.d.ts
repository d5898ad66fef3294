/** KaTeX ships types for its core only; this is the part of auto-render nbstream uses. */
declare module 'katex/contrib/auto-render' {
  export interface IDelimiter {
    left: string;
    right: string;
    display: boolean;
  }
  export interface IAutoRenderOptions {
    delimiters?: IDelimiter[];
    ignoredTags?: string[];
    ignoredClasses?: string[];
    throwOnError?: boolean;
    trust?: boolean;
  }
  export default function renderMathInElement(
    element: HTMLElement,
    options?: IAutoRenderOptions
  ): void;
}
