-- Leak.hs with an import of ghc-events, whose profiling libraries Debian does not ship:
-- the plain build works, the profiled one cannot.
module Main (main) where

import Control.Monad (forM_)
import Data.IORef
import System.Environment (getArgs)
import GHC.RTS.Events (Event)

remember :: IORef [Int] -> Int -> IO ()
remember ref i = modifyIORef' ref (i :)

unused :: Maybe Event
unused = Nothing

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
