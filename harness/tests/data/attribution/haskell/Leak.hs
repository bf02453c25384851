-- A small leak for membound's attribution tests: every value is remembered in an IORef.
module Main (main) where

import Control.Monad (forM_)
import Data.IORef
import System.Environment (getArgs)

remember :: IORef [Int] -> Int -> IO ()
remember ref i = modifyIORef' ref (i :)

main :: IO ()
main = do
  args <- getArgs
  let n = case args of
        [s] -> read s
        _ -> 100000
  ref <- newIORef []
  forM_ [1 .. n] (remember ref)
  xs <- readIORef ref
  print (sum xs)
